"""Build hooks: generate the protobuf and gRPC modules from elkeid/proto/*.proto,
and compile the agent center's C decoder.

The generated ``*_pb2.py`` / ``*_pb2_grpc.py`` files are never committed; every
build (wheel, sdist, editable install) makes them with grpcio-tools, which the
build-system table in pyproject.toml pins.

The decoder (elkeid/server/ac/_fastwire.c) is optional: without a C compiler
and Python headers the package still installs and the agent center decodes with
protobuf alone, slower (docs/benchmarks.md). ``make setup`` installs both.
"""

from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def generate_protos() -> None:
    from grpc_tools import protoc  # build-time dependency only

    include = Path(protoc.__file__).resolve().parent / "_proto"
    for proto in sorted((ROOT / "elkeid" / "proto").glob("*.proto")):
        rel = proto.relative_to(ROOT).as_posix()
        args = ["protoc", f"-I{ROOT}", f"-I{include}", f"--python_out={ROOT}", f"--pyi_out={ROOT}", rel]
        if "service " in proto.read_text():
            args.insert(3, f"--grpc_python_out={ROOT}")
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {rel}")


class BuildPyWithProtos(build_py):
    def run(self) -> None:
        generate_protos()
        super().run()


setup(
    cmdclass={"build_py": BuildPyWithProtos},
    ext_modules=[Extension("elkeid.server.ac._fastwire", ["elkeid/server/ac/_fastwire.c"],
                           extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"], optional=True)],
)
