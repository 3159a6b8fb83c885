# gdb_linux_replay: gdb on a replay of a recorded Linux boot, without
# symbols (Debian's kernel package has no vmlinux with debug info): raw
# addresses and positions only. @N@ is a position deep in the boot (80% of
# the recording), checked against linux_replay.expect.
set architecture riscv:rv64
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:@PORT@
python import time

echo @@ start\n
monitor info replay

# ---- forward to position N ----
echo @@ replay_break\n
monitor replay_break @N@
continue
monitor info replay
print/x $pc
x/i $pc

# ---- reverse-stepi deep in the boot (timed), stepi back ----
echo @@ reverse-stepi\n
python t0 = time.time()
reverse-stepi
python print("@@ reverse-stepi took %.3f s" % (time.time() - t0))
monitor info replay
print/x $pc
echo @@ stepi\n
python t0 = time.time()
stepi
python print("@@ stepi took %.3f s" % (time.time() - t0))
monitor info replay
print/x $pc

# ---- three reverse-stepi: N-1, N-2, N-3 (the pcs noted on the way) ----
echo @@ reverse-stepi x3\n
reverse-stepi
print/x $pc
reverse-stepi
print/x $pc
reverse-stepi
print/x $pc
monitor info replay

# ---- a breakpoint at that pc: forward stepi back to N, then reverse-continue
# ends at the latest position before N with that pc ----
echo @@ break *$pc\n
break *$pc
stepi
stepi
stepi
monitor info replay
echo @@ reverse-continue\n
python t0 = time.time()
reverse-continue
python print("@@ reverse-continue took %.3f s" % (time.time() - t0))
monitor info replay
print/x $pc

# ---- continue forward: the next hit of the breakpoint (or the end), then
# reverse-continue back to exactly the same position ----
echo @@ continue\n
continue
monitor info replay
print/x $pc
echo @@ reverse-continue back\n
reverse-continue
monitor info replay
print/x $pc
delete
echo @@ end of script\n
