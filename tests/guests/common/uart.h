/* Polled output on the virt board's 16550A UART (0x10000000, stride 1). */
#pragma once
#include <stdint.h>

void uart_putc(char c);
void uart_puts(const char *s);
/* "0x" followed by 16 hex digits. */
void uart_put_hex(uint64_t v);
void uart_put_dec(uint64_t v);
