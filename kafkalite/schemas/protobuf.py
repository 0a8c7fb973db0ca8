"""Protobuf schemas: parsed into descriptors, checked by Confluent's documented rules.

A schema's text is either .proto source, parsed by protoc as shipped in the grpcio-tools
package (run as a child process so its messages can be reported), or a base64-encoded
``FileDescriptorProto``, the form confluent-kafka's ProtobufSerializer registers. Referenced
schemas (imports) arrive already parsed; Google's well-known types come with protobuf.

Rules kept (a core subset of Confluent's, named as Confluent names them), for the reader
against the writer, message by message (by full name, nested ones included) and field by
field (by number):

* PACKAGE_CHANGED; MESSAGE_REMOVED (a writer message the reader lacks);
* FIELD_KIND_CHANGED (scalar, message or enum), FIELD_SCALAR_KIND_CHANGED (outside the
  wire-compatible groups int32/uint32/int64/uint64/bool, sint32/sint64, fixed32/sfixed32,
  fixed64/sfixed64, string/bytes), FIELD_NAMED_TYPE_CHANGED (another message or enum type);
* FIELD_LABEL_CHANGED: repeated <-> singular, except for numeric scalars;
* REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED (proto2);
* ONEOF_FIELD_REMOVED (a field leaves its oneof), MULTIPLE_FIELDS_MOVED_TO_ONEOF (several
  fields of the writer join one new oneof of the reader).

Fields added or removed outside those cases, enum constants, renamed fields and options
are compatible, as protobuf's wire format makes them.
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import sys
import tempfile
from typing import Any, Iterator, Mapping

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError as ProtobufDecodeError

from kafkalite.schemas.model import PROTOBUF, Incompatibility, InvalidSchema

F = descriptor_pb2.FieldDescriptorProto
_SCALAR_GROUPS = [
    {F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_BOOL},
    {F.TYPE_SINT32, F.TYPE_SINT64},
    {F.TYPE_FIXED32, F.TYPE_SFIXED32},
    {F.TYPE_FIXED64, F.TYPE_SFIXED64},
    {F.TYPE_STRING, F.TYPE_BYTES},
]
_NUMERIC = {F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_BOOL, F.TYPE_SINT32,
            F.TYPE_SINT64, F.TYPE_FIXED32, F.TYPE_SFIXED32, F.TYPE_FIXED64, F.TYPE_SFIXED64,
            F.TYPE_FLOAT, F.TYPE_DOUBLE, F.TYPE_ENUM}
#: Seconds protoc may take for one schema.
PROTOC_TIMEOUT_S = 30.0


def _well_known(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    if not name.startswith("google/protobuf/"):
        return None
    # Importing the generated modules puts their files in protobuf's default pool.
    from google.protobuf import (any_pb2, duration_pb2, empty_pb2, field_mask_pb2,  # noqa: F401
                                 struct_pb2, timestamp_pb2, wrappers_pb2)

    try:
        found = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        return None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    return proto


class ProtobufSchema:
    """A .proto file as a ``FileDescriptorProto``, with the files it imports."""

    schema_type = PROTOBUF

    def __init__(self, text: str, references: Mapping[str, ProtobufSchema] = ()) -> None:  # type: ignore[assignment]
        """Parse *text*; *references* maps each import path to the parsed imported schema.

        Raises:
            InvalidSchema: neither a base64 FileDescriptorProto nor .proto source that
                protoc accepts, or an import is missing.
        """
        self.text = text
        self.deps: dict[str, descriptor_pb2.FileDescriptorProto] = {}
        for name, ref in dict(references).items():
            self.deps.update(ref.deps)
            # The import path is the file's name here, whatever it was registered as.
            imported = descriptor_pb2.FileDescriptorProto()
            imported.CopyFrom(ref.file)
            imported.name = name
            self.deps[name] = imported
        self.file = _from_base64(text) or self._compile(text)
        for dep in self.file.dependency:
            if dep not in self.deps:
                known = _well_known(dep)
                if known is None:
                    raise InvalidSchema(f"Invalid schema: the import {dep!r} is not among the references")
                self.deps[dep] = known
        self.pool = descriptor_pool.DescriptorPool()
        try:
            for proto in self.deps.values():
                self.pool.Add(proto)
            self.pool.Add(self.file)
            self.pool.FindFileByName(self.file.name)
        except (TypeError, KeyError, ValueError) as exc:
            raise InvalidSchema(f"Invalid schema: {exc}") from None

    def _compile(self, text: str) -> descriptor_pb2.FileDescriptorProto:
        with tempfile.TemporaryDirectory(prefix="kafkalite-proto-") as tmp:
            source = os.path.join(tmp, "schema.proto")
            with open(source, "w", encoding="utf-8") as f:
                f.write(text)
            deps_set = descriptor_pb2.FileDescriptorSet(file=list(self.deps.values()))
            deps_path = os.path.join(tmp, "deps.pb")
            with open(deps_path, "wb") as f:
                f.write(deps_set.SerializeToString())
            out = os.path.join(tmp, "out.pb")
            import grpc_tools

            includes = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
            args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp}", f"-I{includes}",
                    f"--descriptor_set_out={out}", "schema.proto"]
            if self.deps:
                args.insert(3, f"--descriptor_set_in={deps_path}")
            done = subprocess.run(args, capture_output=True, text=True, timeout=PROTOC_TIMEOUT_S, cwd=tmp)
            if done.returncode != 0:
                detail = done.stderr.strip().replace(tmp + os.sep, "") or f"protoc exited {done.returncode}"
                raise InvalidSchema(f"Invalid schema: {detail}")
            with open(out, "rb") as f:
                parsed = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        proto = parsed.file[-1]
        proto.name = "default"
        return proto

    def identity(self) -> str:
        return base64.b64encode(self.file.SerializeToString(deterministic=True)).decode()

    def normalized(self) -> str:
        return self.text

    def serialized(self) -> str:
        """The base64 FileDescriptorProto (``?format=serialized``)."""
        return base64.b64encode(self.file.SerializeToString()).decode()

    def message_name(self, indexes: list[int]) -> str | None:
        """The full name of the message that Confluent's message *indexes* point at."""
        messages = list(self.file.message_type)
        prefix = f"{self.file.package}." if self.file.package else ""
        name = None
        for i in indexes:
            if not 0 <= i < len(messages):
                return None
            name = f"{prefix}{messages[i].name}"
            prefix = f"{name}."
            messages = list(messages[i].nested_type)
        return name

    def decode(self, indexes: list[int], payload: bytes) -> Any:
        """The message at *indexes* decoded from *payload* as JSON-able data.

        Raises:
            ValueError: no such message, or *payload* is not one.
        """
        name = self.message_name(indexes or [0])
        if name is None:
            raise ValueError(f"no message at indexes {indexes}")
        cls = message_factory.GetMessageClass(self.pool.FindMessageTypeByName(name))
        try:
            message = cls.FromString(payload)
        except ProtobufDecodeError as exc:
            raise ValueError(str(exc)) from None
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    def incompatibilities(self, writer: Any, new_is_reader: bool) -> list[Incompatibility]:
        assert isinstance(writer, ProtobufSchema)
        found: list[Incompatibility] = []
        reader_is = "new" if new_is_reader else "old"
        writer_is = "old" if new_is_reader else "new"

        def add(kind: str, path: str, sentence: str) -> None:
            found.append(Incompatibility(kind, f"{sentence} at path '{path}'", path))

        if self.file.package != writer.file.package:
            add("PACKAGE_CHANGED", "#/", f"The package of the {reader_is} schema does not match the {writer_is} schema")
        r_messages = dict(_messages(self.file.message_type, ""))
        for name, w_msg in _messages(writer.file.message_type, ""):
            r_msg = r_messages.get(name)
            if r_msg is None:
                add("MESSAGE_REMOVED", f"#/{name}", f"The {reader_is} schema is missing a message of the {writer_is} schema")
                continue
            _compare_message(r_msg, w_msg, f"#/{name}", reader_is, writer_is, add)
        return found


def _from_base64(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    stripped = text.strip()
    if not stripped or any(c.isspace() for c in stripped) or ";" in stripped:
        return None
    try:
        raw = base64.b64decode(stripped, validate=True)
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, ProtobufDecodeError):
        return None
    if not proto.name:
        proto.name = "default"
    return proto


def _messages(messages: Any, prefix: str) -> Iterator[tuple[str, descriptor_pb2.DescriptorProto]]:
    for msg in messages:
        name = f"{prefix}{msg.name}"
        if msg.options.map_entry:
            continue
        yield name, msg
        yield from _messages(msg.nested_type, f"{name}.")


def _kind(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type == F.TYPE_MESSAGE or field.type == F.TYPE_GROUP:
        return "MESSAGE"
    if field.type == F.TYPE_ENUM:
        return "ENUM"
    return "SCALAR"


def _same_scalar_group(a: int, b: int) -> bool:
    return a == b or any(a in group and b in group for group in _SCALAR_GROUPS)


def _compare_message(reader: Any, writer: Any, path: str, reader_is: str, writer_is: str, add: Any) -> None:
    r_fields = {f.number: f for f in reader.field}
    w_fields = {f.number: f for f in writer.field}
    r_oneof = {f.number: f.oneof_index for f in reader.field if f.HasField("oneof_index") and not f.proto3_optional}
    w_oneof = {f.number: f.oneof_index for f in writer.field if f.HasField("oneof_index") and not f.proto3_optional}
    for number, w_field in w_fields.items():
        field_path = f"{path}/{number}"
        r_field = r_fields.get(number)
        if r_field is None:
            if w_field.label == F.LABEL_REQUIRED:
                add("REQUIRED_FIELD_REMOVED", field_path, f"The {reader_is} schema is missing a required field")
            if number in w_oneof:
                add("ONEOF_FIELD_REMOVED", field_path, f"The {reader_is} schema removes a field of a oneof")
            continue
        if _kind(r_field) != _kind(w_field):
            add("FIELD_KIND_CHANGED", field_path, f"The kind of a field in the {reader_is} schema does not match "
                f"its kind in the {writer_is} schema")
        elif _kind(r_field) == "SCALAR" and not _same_scalar_group(r_field.type, w_field.type):
            add("FIELD_SCALAR_KIND_CHANGED", field_path, f"The kind of a SCALAR field in the {reader_is} schema "
                f"does not match its kind in the {writer_is} schema")
        elif _kind(r_field) != "SCALAR" and r_field.type_name.lstrip(".") != w_field.type_name.lstrip("."):
            add("FIELD_NAMED_TYPE_CHANGED", field_path, f"The type of a MESSAGE or ENUM field in the {reader_is} "
                f"schema does not match its type in the {writer_is} schema")
        r_repeated, w_repeated = r_field.label == F.LABEL_REPEATED, w_field.label == F.LABEL_REPEATED
        if r_repeated != w_repeated and not (r_field.type in _NUMERIC and w_field.type in _NUMERIC):
            add("FIELD_LABEL_CHANGED", field_path, f"The label of a field in the {reader_is} schema does not "
                f"match its label in the {writer_is} schema")
        if number in w_oneof and number not in r_oneof:
            add("ONEOF_FIELD_REMOVED", field_path, f"The {reader_is} schema moves a field out of its oneof")
    for number, r_field in r_fields.items():
        if number not in w_fields and r_field.label == F.LABEL_REQUIRED:
            add("REQUIRED_FIELD_ADDED", f"{path}/{number}", f"The {reader_is} schema adds a required field")
    moved: dict[int, int] = {}
    for number, index in r_oneof.items():
        if number in w_fields and number not in w_oneof:
            moved[index] = moved.get(index, 0) + 1
    for index, count in moved.items():
        if count > 1:
            add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", f"{path}/oneof/{index}",
                f"The {reader_is} schema moves several existing fields into one oneof")
