"""Protobuf schemas: parsed into descriptors, checked by Confluent's documented rules.

A schema's text is either .proto source, parsed by protoc as shipped in the grpcio-tools
package (run as a child process so its messages can be reported), or a base64-encoded
``FileDescriptorProto``, the form confluent-kafka's ProtobufSerializer registers. Referenced
schemas (imports) arrive already parsed; Google's well-known types come with protobuf.

Rules kept (a core subset of Confluent's, named as Confluent names the differences it refuses),
the writer's schema against the reader's, message by message (by full name, nested ones
included) and field by field (by number):

* PACKAGE_CHANGED; MESSAGE_REMOVED (a writer message the reader lacks);
* FIELD_KIND_CHANGED (scalar, message or map; an enum is a scalar), FIELD_SCALAR_KIND_CHANGED
  (outside the wire-compatible groups int32/uint32/int64/uint64/bool/enum, sint32/sint64,
  fixed32/sfixed32, fixed64/sfixed64, float, double, string/bytes), FIELD_NAMED_TYPE_CHANGED
  (another message type, by its name within its package); a map's key and value types as
  fields;
* FIELD_NUMERIC_LABEL_CHANGED: a numeric field's label changed (optional, required, repeated;
  a proto3 field without a label has none to change). A string or bytes field's label may
  change, as may a message field's;
* REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED (proto2);
* ONEOF_FIELD_REMOVED (a field leaves its oneof), MULTIPLE_FIELDS_MOVED_TO_ONEOF (several
  fields of the writer join one oneof of the reader), FIELD_MOVED_TO_EXISTING_ONEOF (one
  joins a oneof whose other fields were in a oneof already).

Fields added or removed otherwise, renames, messages moved, enums and their constants, oneofs
added or removed and options are compatible, as protobuf's wire format makes them.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
import subprocess
import sys
import tempfile
from typing import Any, Iterator, Mapping

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError as ProtobufDecodeError

from kafkalite.schemas.model import PROTOBUF, Incompatibility, InvalidSchema

F = descriptor_pb2.FieldDescriptorProto
#: Scalar type -> its wire-compatible group (enums are numbers on the wire).
_SCALAR_GROUP = {
    **dict.fromkeys((F.TYPE_INT32, F.TYPE_UINT32, F.TYPE_INT64, F.TYPE_UINT64, F.TYPE_BOOL, F.TYPE_ENUM), "NUMBER"),
    **dict.fromkeys((F.TYPE_SINT32, F.TYPE_SINT64), "SIGNED_NUMBER"),
    **dict.fromkeys((F.TYPE_FIXED32, F.TYPE_SFIXED32), "FIXED32"),
    **dict.fromkeys((F.TYPE_FIXED64, F.TYPE_SFIXED64), "FIXED64"),
    F.TYPE_FLOAT: "FLOAT",
    F.TYPE_DOUBLE: "DOUBLE",
    **dict.fromkeys((F.TYPE_STRING, F.TYPE_BYTES), "STRING_OR_BYTES"),
}
#: Seconds protoc may take for one schema.
PROTOC_TIMEOUT_S = 30.0


def _well_known(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    if not name.startswith("google/protobuf/"):
        return None
    # Importing the generated modules puts their files in protobuf's default pool.
    for module in ("any_pb2", "duration_pb2", "empty_pb2", "field_mask_pb2", "struct_pb2", "timestamp_pb2",
                   "wrappers_pb2", "descriptor_pb2", "type_pb2", "api_pb2", "source_context_pb2"):
        importlib.import_module(f"google.protobuf.{module}")

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
            found.append(Incompatibility(kind, sentence.format(p=path, r=reader_is, w=writer_is), path))

        reader, old = _Side(self.file), _Side(writer.file)
        if reader.package != old.package:
            add("PACKAGE_CHANGED", "#/", "The package of the {r} schema does not match the package of the {w} schema")
        for name, w_msg in _messages(writer.file.message_type, ""):
            r_msg = reader.messages.get(f".{reader.package}.{name}" if reader.package else f".{name}")
            if r_msg is None:
                add("MESSAGE_REMOVED", f"#/{name}", "The {r} schema is missing a message at path '{p}' in the {w} schema")
                continue
            _compare_message(reader, old, r_msg, w_msg, f"#/{name}", add)
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


def _local(type_name: str, package: str) -> str:
    """A message's name within its package (Confluent compares those)."""
    name = type_name.lstrip(".")
    return name[len(package) + 1:] if package and name.startswith(package + ".") else name


class _Side:
    """One schema's messages by full name (map entries included) and its syntax."""

    def __init__(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        self.package = file.package
        self.proto3 = file.syntax == "proto3"
        prefix = f".{file.package}." if file.package else "."
        self.messages: dict[str, Any] = {}
        stack = [(prefix, m) for m in file.message_type]
        while stack:
            at, msg = stack.pop()
            self.messages[f"{at}{msg.name}"] = msg
            stack += [(f"{at}{msg.name}.", nested) for nested in msg.nested_type]

    def kind(self, field: Any) -> str:
        if field.type in (F.TYPE_MESSAGE, F.TYPE_GROUP):
            target = self.messages.get(field.type_name)
            return "MAP" if target is not None and target.options.map_entry else "MESSAGE"
        return "SCALAR"

    def label(self, field: Any) -> str | None:
        if field.label == F.LABEL_REPEATED:
            return "repeated"
        if field.label == F.LABEL_REQUIRED:
            return "required"
        if self.proto3 and not field.proto3_optional:
            return None  # written without a label
        return "optional"


def _compare_field(reader: _Side, writer: _Side, r_field: Any, w_field: Any, path: str, add: Any,
                   labels: bool = True) -> None:
    r_kind, w_kind = reader.kind(r_field), writer.kind(w_field)
    if r_kind != w_kind:
        add("FIELD_KIND_CHANGED", path, "The kind of a field at path '{p}' in the {r} schema does not match its kind in the {w} schema")
    elif r_kind == "SCALAR":
        group = _SCALAR_GROUP[w_field.type]
        if _SCALAR_GROUP[r_field.type] != group:
            add("FIELD_SCALAR_KIND_CHANGED", path, "The kind of a SCALAR field at path '{p}' in the {r} schema does not match its kind in the {w} schema")
        elif labels and group != "STRING_OR_BYTES":
            r_label, w_label = reader.label(r_field), writer.label(w_field)
            if r_label is not None and w_label is not None and r_label != w_label:
                add("FIELD_NUMERIC_LABEL_CHANGED", path, "The label for a NUMERIC field at path '{p}' in the {r} schema does not match its label in the {w} schema")
    elif r_kind == "MESSAGE":
        if _local(r_field.type_name, reader.package) != _local(w_field.type_name, writer.package):
            add("FIELD_NAMED_TYPE_CHANGED", path, "The type of a MESSAGE field at path '{p}' in the {r} schema does not match its type in the {w} schema")
    else:  # a map: its key and its value, as fields without labels
        r_entry, w_entry = reader.messages[r_field.type_name], writer.messages[w_field.type_name]
        for r_part, w_part in zip(r_entry.field, w_entry.field):
            _compare_field(reader, writer, r_part, w_part, path, add, labels=False)


def _compare_message(reader: _Side, writer: _Side, r_msg: Any, w_msg: Any, path: str, add: Any) -> None:
    r_fields = {f.number: f for f in r_msg.field}
    w_fields = {f.number: f for f in w_msg.field}

    def oneofs(msg: Any) -> dict[int, int]:  # field number -> its oneof (synthetic ones aside)
        return {f.number: f.oneof_index for f in msg.field if f.HasField("oneof_index") and not f.proto3_optional}

    r_oneof, w_oneof = oneofs(r_msg), oneofs(w_msg)
    for index in sorted(set(r_oneof.values())):
        members = [n for n, i in r_oneof.items() if i == index]
        moved = sum(1 for n in members if n in w_fields and n not in w_oneof)
        existing = sum(1 for n in members if n in w_oneof)
        where = f"{path}/{r_msg.oneof_decl[index].name}"
        if moved > 1:
            add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", where, "Multiple fields in the oneof at path '{p}' in the {r} schema are outside a oneof in the {w} schema")
        elif moved == 1 and existing:
            add("FIELD_MOVED_TO_EXISTING_ONEOF", where, "A field in the oneof at path '{p}' in the {r} schema is outside a oneof in the {w} schema and others were in a oneof")
    for number in sorted(set(w_fields) | set(r_fields)):
        field_path = f"{path}/{number}"
        r_field, w_field = r_fields.get(number), w_fields.get(number)
        if r_field is None:
            if w_field.label == F.LABEL_REQUIRED:
                add("REQUIRED_FIELD_REMOVED", field_path, "The {r} schema is missing a required field at path '{p}' in the {w} schema")
            if number in w_oneof:
                add("ONEOF_FIELD_REMOVED", field_path, "The {r} schema is missing a oneof field at path '{p}' in the {w} schema")
        elif w_field is None:
            if r_field.label == F.LABEL_REQUIRED:
                add("REQUIRED_FIELD_ADDED", field_path, "A required field at path '{p}' in the {r} schema is missing in the {w} schema")
        else:
            _compare_field(reader, writer, r_field, w_field, field_path, add)
            if number in w_oneof and number not in r_oneof:
                add("ONEOF_FIELD_REMOVED", field_path, "The {r} schema moves the field at path '{p}' out of its oneof in the {w} schema")
