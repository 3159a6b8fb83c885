/* A 2 MiB initialised array: blob[i] = i for i < 262144. Used by
   bigimage.c (the loader copies the whole image) and by the CLI test that
   expects "does not fit in RAM" with -m 1M. */
  .section .data.blob,"aw",@progbits
  .balign 8
  .globl blob
blob:
  .set i, 0
  .rept 262144
  .dword i
  .set i, i + 1
  .endr
  .globl blob_end
blob_end:
