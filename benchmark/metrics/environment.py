"""Where a number was measured: device names, software versions and a machine fingerprint.

:func:`env_info` is what every record and perf file keeps as ``env``; :func:`platform_fields` is the short
subset that every throughput row carries inline (GPU name, driver, torch, CUDA and cuDNN versions), so a
row read on its own still says which machine and software produced it.  No hostnames or user names.

``machine`` is a fingerprint of the hardware, ``"<CPU model> x<logical cores> | <GPU names>"``: two runs
with the same fingerprint ran on the same kind of machine.  ``arch`` is what ``platform.machine()`` says
(x86_64, aarch64).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
import platform
import re
import subprocess

import torch


def device_name(device: str | torch.device | None = None) -> str:
    """Human name of a device: the GPU's name, or the CPU model for ``cpu``."""
    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        return cpu_model()
    return device.type


@functools.cache
def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown cpu"


def gpu_names() -> list[str]:
    """Names of the visible CUDA GPUs (empty without CUDA)."""
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


@functools.cache
def gpu_driver() -> str | None:
    """The NVIDIA driver version (e.g. ``570.124.06``), or None without one.

    Read from ``/proc/driver/nvidia/version``, else asked of ``nvidia-smi``; torch itself only knows the CUDA
    driver API level.
    """
    with contextlib.suppress(OSError):
        with open("/proc/driver/nvidia/version", encoding="utf-8") as f:
            found = re.search(r"Kernel Module(?: for \S+)?\s+(\d+(?:\.\d+)+)", f.read())
            if found:
                return found.group(1)
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
        return out.splitlines()[0].strip() or None
    return None


def machine_fingerprint() -> str:
    """``"<CPU model> x<logical cores> | <GPU names>"``: the same string means the same kind of machine."""
    gpus = gpu_names()
    names = ", ".join(f"{n} x{gpus.count(n)}" if gpus.count(n) > 1 else n for n in dict.fromkeys(gpus))
    return f"{cpu_model()} x{os.cpu_count() or 1} | {names or 'no GPU'}"


def platform_fields(device: str | torch.device | None = None) -> dict[str, object]:
    """What every throughput row carries: device, GPU driver, torch, CUDA and cuDNN versions, machine."""
    cuda = torch.device(device if device is not None else "cpu").type == "cuda"
    return {
        "device": device_name(device),
        "gpu_driver": gpu_driver() if cuda else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "machine": machine_fingerprint(),
    }


def env_info(device: str | torch.device | None = None) -> dict[str, object]:
    """Software and hardware provenance for a record (no hostname, no user names)."""
    fields = platform_fields(device)
    return {
        "python": platform.python_version(),
        "torch": fields["torch"],
        "torch_cuda_build": fields["cuda"],
        "cudnn": fields["cudnn"],
        "timm": package_version("timm"),
        "torch_fidelity": package_version("torch-fidelity"),
        "fvcore": package_version("fvcore"),
        "os": platform.system(),
        "arch": platform.machine(),
        "machine": fields["machine"],
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_threads": torch.get_num_threads(),
        "gpu_count": torch.cuda.device_count(),
        "gpus": gpu_names(),
        "gpu_driver": gpu_driver() if torch.cuda.is_available() else None,
        "device": fields["device"],
    }


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
