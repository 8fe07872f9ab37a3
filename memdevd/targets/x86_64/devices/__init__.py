"""Device types only x86 has (sgx-epc, hv-balloon and its VMBus, isa-serial)."""
