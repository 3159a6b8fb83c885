# Building bare-metal guest ELFs with riscv64-unknown-elf-gcc and the runtime
# in tests/guests/common (included by tests/guests and tests/gdb).
#
# Sets HS_RISCV_GCC (empty if the cross-compiler is missing) and defines
# hs_build_guest(ELF OPT SOURCES...): ELF from the runtime plus SOURCES
# (absolute paths), compiled at optimisation level OPT (e.g. -O2).
set(HS_GUEST_SRC_DIR ${CMAKE_CURRENT_LIST_DIR})
find_program(HS_RISCV_GCC riscv64-unknown-elf-gcc)

set(HS_GUEST_BASE_CFLAGS -march=rv64gc -mabi=lp64d -mcmodel=medany -nostdlib -ffreestanding
    -g -Wall -Wextra)
if(HS_RISCV_GCC)
  execute_process(COMMAND ${HS_RISCV_GCC} -Wl,--help OUTPUT_VARIABLE _hs_ld_help ERROR_QUIET)
  if(_hs_ld_help MATCHES "no-warn-rwx-segments")
    list(APPEND HS_GUEST_BASE_CFLAGS -Wl,--no-warn-rwx-segments)
  endif()
endif()

set(HS_GUEST_RUNTIME
  ${HS_GUEST_SRC_DIR}/common/start.S
  ${HS_GUEST_SRC_DIR}/common/trap.S
  ${HS_GUEST_SRC_DIR}/common/lower.S
  ${HS_GUEST_SRC_DIR}/common/runtime.c
  ${HS_GUEST_SRC_DIR}/common/uart.c)
set(HS_GUEST_DEPS
  ${HS_GUEST_RUNTIME}
  ${HS_GUEST_SRC_DIR}/common/guest.h
  ${HS_GUEST_SRC_DIR}/common/trap_frame.h
  ${HS_GUEST_SRC_DIR}/common/uart.h
  ${HS_GUEST_SRC_DIR}/common/link.ld)

function(hs_build_guest elf opt)
  get_filename_component(name ${elf} NAME)
  add_custom_command(OUTPUT ${elf}
    COMMAND ${HS_RISCV_GCC} ${HS_GUEST_BASE_CFLAGS} ${opt} -I${HS_GUEST_SRC_DIR}
            -T ${HS_GUEST_SRC_DIR}/common/link.ld -o ${elf} ${HS_GUEST_RUNTIME} ${ARGN} -lgcc
    DEPENDS ${HS_GUEST_DEPS} ${ARGN}
    COMMENT "Building guest ${name}"
    VERBATIM)
endfunction()
