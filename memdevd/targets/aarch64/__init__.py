"""qemu-system-aarch64: the arm ``virt`` machine (docs/architecture.md, "A target")."""
