#!/bin/bash
# `kvmscope check` against an L2 Linux guest under QEMU -enable-kvm as well
# as the kvmtest VM (t_check.sh with CHECK_L2=1): make lab-full, since the
# guest's boot under nested TCG takes minutes on a busy machine.
CHECK_L2=1 exec bash "$(dirname "$0")/t_check.sh"
