"""Assets and equipment (校产与仪器设备), DATA.md §7."""
