"""The seccomp program: a search tree that must decide exactly like the deny tables say."""

from __future__ import annotations

import errno
import struct

from selfchallenge_jax.sandbox import seccomp_filter

_ALLOW = seccomp_filter._SECCOMP_RET_ALLOW
_EPERM = seccomp_filter._SECCOMP_RET_ERRNO | errno.EPERM
_ENOSYS = seccomp_filter._SECCOMP_RET_ERRNO | errno.ENOSYS


def run_filter(program: bytes, nr: int, arch: int = seccomp_filter._AUDIT_ARCH_X86_64,
               steps: list[int] | None = None) -> int:
  """A classic-BPF interpreter for the few opcodes the filter uses; counts steps into `steps`."""
  data = struct.pack("<iI", nr, arch)
  insns = [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]
  pc, acc, steps_taken = 0, 0, 0
  while True:
    code, jt, jf, k = insns[pc]
    steps_taken += 1
    if code == seccomp_filter._BPF_LD_W_ABS:
      acc = struct.unpack_from("<I", data, k)[0]
      pc += 1
    elif code == seccomp_filter._BPF_RET_K:
      if steps is not None:
        steps.append(steps_taken)
      return k
    else:
      taken = {seccomp_filter._BPF_JEQ_K: acc == k, seccomp_filter._BPF_JGE_K: acc >= k,
               seccomp_filter._BPF_JGT_K: acc > k}[code]
      pc += 1 + (jt if taken else jf)


def test_every_syscall_number_gets_its_table_action():
  program = seccomp_filter.build_filter()
  denied = set(seccomp_filter._DENIED_X86_64.values())
  enosys = set(seccomp_filter._ENOSYS_X86_64.values())
  for nr in range(1024):
    expected = _EPERM if nr in denied else _ENOSYS if nr in enosys else _ALLOW
    assert run_filter(program, nr) == expected, nr


def test_x32_and_foreign_architectures_are_refused():
  program = seccomp_filter.build_filter()
  assert run_filter(program, seccomp_filter._X32_SYSCALL_BIT | 0) == _EPERM
  assert run_filter(program, 0, arch=0x40000003) == seccomp_filter._SECCOMP_RET_KILL_PROCESS


def test_every_decision_takes_few_steps():
  """A search tree, not one test per denied syscall: the kernel emulates the filter for every
  syscall number when it installs it, so long paths cost every child."""
  steps: list[int] = []
  program = seccomp_filter.build_filter()
  for nr in range(1024):
    run_filter(program, nr, steps=steps)
  assert max(steps) <= 16, max(steps)
