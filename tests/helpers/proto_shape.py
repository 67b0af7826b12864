"""The wire-relevant shape of generated protobuf modules (messages, enums, services), as plain JSON-able data.

Used on both sides of the Audio2Face-3D compatibility check: NVIDIA's wheels in ``.venv-a2f`` and facecast's
own stubs, so the two descriptions are computed by the same code. Standard library and protobuf only.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2


def describe(modules) -> dict:
    """Every message (nested ones too) with its fields by number, every enum and every service's methods."""
    out: dict = {"messages": {}, "enums": {}, "services": {}}

    def add_enum(name: str, enum: descriptor_pb2.EnumDescriptorProto) -> None:
        out["enums"][name] = {v.name: v.number for v in enum.value}

    def add_message(prefix: str, message: descriptor_pb2.DescriptorProto) -> None:
        name = f"{prefix}.{message.name}"
        out["messages"][name] = {str(f.number): [f.name, f.type, f.label, f.type_name.lstrip("."),
                                                 f.proto3_optional] for f in message.field}
        for nested in message.nested_type:
            add_message(name, nested)
        for enum in message.enum_type:
            add_enum(f"{name}.{enum.name}", enum)

    for module in modules:
        file = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file)
        for message in file.message_type:
            add_message(file.package, message)
        for enum in file.enum_type:
            add_enum(f"{file.package}.{enum.name}", enum)
        for service in file.service:
            out["services"][f"{file.package}.{service.name}"] = {
                m.name: [m.input_type.lstrip("."), m.output_type.lstrip("."), m.client_streaming,
                         m.server_streaming] for m in service.method}
    return out
