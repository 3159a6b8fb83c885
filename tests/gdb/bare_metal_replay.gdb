# gdb_bare_metal_replay: gdb drives `hindsight replay` of a recording of
# debugee.elf. Each step echoes a "@@ ..." marker that
# bare_metal_replay.expect anchors on. @PORT@, @SEEK@ are filled in by
# gdbtest.py.
set architecture riscv:rv64
set pagination off
set confirm off
set width 0
set print pretty off
target remote 127.0.0.1:@PORT@

echo @@ start\n
monitor info replay
info registers pc

# ---- a position breakpoint, forward, and the pc there ----
echo @@ replay_break\n
monitor replay_break @SEEK@
continue
monitor info replay
info registers pc

# ---- break, continue, print ----
echo @@ break bump\n
break bump
continue
print counter
continue
print counter
print by

# ---- next, step, finish ----
echo @@ next\n
delete
next
print counter
next
echo @@ step\n
step
next
next
step
echo @@ finish\n
finish

# ---- watchpoint forward ----
echo @@ watch\n
watch counter
continue
continue
print counter
monitor info replay

# ---- reverse-continue to the watchpoint: the write in bump(4) undone ----
echo @@ reverse-continue watch\n
reverse-continue
x/i $pc
print counter
echo @@ stepi over the write\n
stepi
print counter
monitor info replay
echo @@ stepi past it\n
stepi
echo @@ reverse-stepi back\n
reverse-stepi
print counter
monitor info replay
echo @@ reverse-stepi over the write\n
reverse-stepi
x/i $pc
print counter
monitor info replay
echo @@ reverse-continue watch again\n
reverse-continue
print counter
delete

# ---- reverse-stepi: pc back, position - 1, and forward again ----
echo @@ reverse-stepi\n
print/x $pc
monitor info replay
reverse-stepi
print/x $pc
monitor info replay
echo @@ stepi back\n
stepi
print/x $pc
monitor info replay

# ---- reverse-finish, reverse-next ----
echo @@ reverse-finish\n
reverse-finish
print i
echo @@ reverse-next 1\n
reverse-next
echo @@ reverse-next 2\n
reverse-next
echo @@ reverse-next 3\n
reverse-next
print rounds
echo @@ reverse-next over a call\n
reverse-next
print box.corner.x

# ---- reverse-continue to a breakpoint, then forward to it again ----
echo @@ reverse-continue break\n
break move_box
reverse-continue
print counter
print box
echo @@ continue break\n
continue
print box
delete

# ---- a recursive function: finish returns values ----
echo @@ factorial\n
break factorial if n == 1
continue
backtrace
echo @@ finish factorial 1\n
finish
echo @@ finish factorial 2\n
finish
delete

# ---- replay_seek: the same pc as the forward run at that position ----
echo @@ replay_seek\n
monitor replay_seek @SEEK@
maint flush register-cache
info registers pc
monitor info replay

# ---- forward to the end of the recording ----
echo @@ continue to end\n
continue
monitor info replay
echo @@ continue at end\n
continue
monitor info replay

# ---- monitor commands: help, unknown, out of range ----
echo @@ monitor\n
monitor help
monitor no_such_command
monitor replay_seek 99999999999
monitor replay_break x12
monitor info replay

# ---- registers at the end ----
echo @@ registers\n
info registers
print $priv
print/x $mstatus
print/x $mstatus & 0x6000
print $f0
print $f1
print fp_result
print fact_result

# ---- reverse-continue without breakpoints: the start of the recording ----
echo @@ reverse-continue to start\n
reverse-continue
monitor info replay
info registers pc
echo @@ reverse-stepi at start\n
reverse-stepi
monitor info replay
# ---- a breakpoint at a loop's head: with the JIT a unit's entry, entered
# again by the loop's back edge, and units chain while breakpoints are set:
# every iteration must stop, both ways ----
echo @@ loop head\n
break debugee.c:76
continue
print i
continue
print i
continue
print i
echo @@ loop head reverse\n
reverse-continue
print i
reverse-continue
print i
delete
echo @@ tight loop head\n
break debugee.c:42
continue
print k
continue
print k
continue
print k
echo @@ tight loop head reverse\n
reverse-continue
print k
reverse-continue
print k
delete
# From past the loop, with no stops inside it since the last of the above:
# the reverse scan runs the loop from one hit (stepping over it) to the next.
break fpu_work
continue
delete
break debugee.c:42
echo @@ tight loop head, reverse from after the loop\n
reverse-continue
print k
delete
echo @@ end of script\n
