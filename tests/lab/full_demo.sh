#!/bin/bash
# `make demo` end to end with the L2 Linux guest (t_demo.sh with
# T_DEMO_FULL=1): everything t_demo.sh asserts, and l2-linux exits in L1
# and stands beside the kvmtest VMs in kvmscope stat's table.  9.5-13
# minutes with the machine at load 20, most of it the L2 guest's boot.
T_DEMO_FULL=1 exec bash "$(dirname "$0")/t_demo.sh"
