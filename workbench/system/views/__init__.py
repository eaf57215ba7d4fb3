"""Live views of the stack's components, read from simulated memory by field name through the images'
DWARF (`dwarf.py`): the hypervisor, the PrivVM, the driver VM, the AppVMs, the devices and the
network peer (`components.py`)."""
