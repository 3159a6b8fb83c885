# gdb_live_reverse: gdb on a live run (`hindsight run --gdb PORT -S`), which
# records as it goes: reverse execution into the past, forward again through
# the old live point into new live execution, and the guest's exit.
# Checked against live_reverse.expect.
set architecture riscv:rv64
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:@PORT@

echo @@ start\n
monitor info replay
info registers pc

# ---- live: break, continue ----
echo @@ live break\n
break bump
continue
continue
continue
print counter
monitor info replay

# ---- reverse-stepi into the recording ----
echo @@ reverse-stepi\n
reverse-stepi
monitor info replay
print counter

# ---- reverse-continue to a breakpoint in the past ----
echo @@ reverse-continue\n
break move_box
reverse-continue
print counter
print box
monitor info replay

# ---- forward: replays to the live point (bump(3) is hit there again) ----
echo @@ continue to the live point\n
continue
print counter
monitor info replay

# ---- and on, live, past it ----
echo @@ continue live\n
continue
print counter
print box
monitor info replay

# ---- back once more, then forward to the new live point ----
echo @@ reverse-continue again\n
reverse-continue
monitor info replay
echo @@ continue to the new live point\n
continue
monitor info replay

# ---- a watchpoint live, reversed, and forward again ----
echo @@ watch\n
delete
watch counter
continue
echo @@ reverse-continue watch\n
reverse-continue
x/i $pc
print counter
echo @@ continue watch\n
continue
print counter
continue
print counter

# ---- no more stops: the guest runs live to its exit ----
echo @@ continue to exit\n
delete
continue
echo @@ end of script\n
