"""Nova's ImageMetaProps 1.44 (Nova 34): the image properties a request carries.

The field names and kinds are Nova's (tests/fixtures/nova/object_fields.json,
captured from Nova by tools/capture_nova_primitives.py, is checked against
this table by the unit tests). Nova adds a property in every release, each in
a new minor version; those decode too, as plain values, since corral passes
image properties through to the filters by name.
"""

from __future__ import annotations

from corral.rpc.fields import (
    Bool,
    DictOf,
    Field,
    Int,
    ListOf,
    Loose,
    Nullable,
    ObjectSchema,
    Str,
)

VERSION = (1, 44)

_STRINGS = (
    "hw_architecture",
    "hw_auto_disk_config",
    "hw_cdrom_bus",
    "hw_cpu_policy",
    "hw_cpu_realtime_mask",
    "hw_cpu_thread_policy",
    "hw_disk_bus",
    "hw_disk_type",
    "hw_emulation_architecture",
    "hw_ephemeral_encryption_format",
    "hw_firmware_type",
    "hw_floppy_bus",
    "hw_input_bus",
    "hw_machine_type",
    "hw_maxphysaddr_mode",
    "hw_mem_encryption_model",
    "hw_mem_page_size",
    "hw_pci_numa_affinity_policy",
    "hw_pointer_model",
    "hw_rescue_bus",
    "hw_rescue_device",
    "hw_rng_model",
    "hw_scsi_model",
    "hw_sound_model",
    "hw_tpm_model",
    "hw_tpm_version",
    "hw_usb_model",
    "hw_video_model",
    "hw_vif_model",
    "hw_viommu_model",
    "hw_vm_mode",
    "hw_watchdog_action",
    "img_config_drive",
    "img_hv_requested_version",
    "img_hv_type",
    "img_owner_id",
    "img_root_device_name",
    "img_signature",
    "img_signature_hash_method",
    "img_signature_key_type",
    "os_admin_user",
    "os_command_line",
    "os_distro",
    "os_secure_boot",
    "os_type",
)
_BOOLS = (
    "hw_boot_menu",
    "hw_ephemeral_encryption",
    "hw_firmware_stateless",
    "hw_ipxe_boot",
    "hw_locked_memory",
    "hw_mem_encryption",
    "hw_pmu",
    "hw_qemu_guest_agent",
    "hw_time_hpet",
    "hw_vif_multiqueue_enabled",
    "hw_virtio_packed_ring",
    "img_bdm_v2",
    "img_bittorrent",
    "img_cache_in_nova",
    "img_hide_hypervisor_id",
    "img_linked_clone",
    "img_use_agent",
    "os_require_quiesce",
    "os_skip_agent_inject_files_at_boot",
    "os_skip_agent_inject_ssh",
)
_INTS = (
    "hw_cpu_cores",
    "hw_cpu_max_cores",
    "hw_cpu_max_sockets",
    "hw_cpu_max_threads",
    "hw_cpu_sockets",
    "hw_cpu_threads",
    "hw_device_id",
    "hw_maxphysaddr_bits",
    "hw_numa_nodes",
    "hw_redirected_usb_ports",
    "hw_serial_port_count",
    "hw_video_ram",
    "img_compression_level",
    "img_version",
)
# UUIDField in Nova, which warns about a non-UUID but keeps it: a string here.
_UUIDS = (
    "hw_ephemeral_encryption_secret_uuid",
    "img_signature_certificate_uuid",
)

# Properties are user-set image metadata; Glance caps a value at 255
# characters, a signature may be longer.
_TEXT = Str(max_length=255)
_LONG_TEXT = Str(max_length=65_535)
_CPUS = 4096
_NODES = 64


def _fields() -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name in _STRINGS:
        out[name] = Field(_LONG_TEXT if name in ("img_signature", "os_command_line") else _TEXT)
    for name in _BOOLS:
        out[name] = Field(Bool())
    for name in _INTS:
        out[name] = Field(Int())
    for name in _UUIDS:
        out[name] = Field(Str(max_length=255, name="uuid"))
    out["hw_numa_cpus"] = Field(ListOf(ListOf(Int(0, 1 << 20), _CPUS), _NODES))
    out["hw_numa_mem"] = Field(ListOf(Int(0), _NODES))
    mappings = ListOf(DictOf(Nullable(_TEXT), max_items=64), max_items=256)
    out["img_block_device_mapping"] = Field(mappings)
    out["img_mappings"] = Field(mappings)
    out["traits_required"] = Field(ListOf(_TEXT, 256))
    return out


SCHEMA = ObjectSchema(
    "ImageMetaProps",
    VERSION[0],
    VERSION[1],
    _fields(),
    newer_minor_ok=True,
    extra_field=Loose(),
)
