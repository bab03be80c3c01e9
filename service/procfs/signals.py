"""Names of the signals in a /proc/<pid>/status signal mask."""

import signal

from service.procfs.capabilities import set_bits

# real-time signals are numbered differently by the kernel and by libc, so past
# the classic 31 a signal is named by its kernel number
LAST_CLASSIC_SIGNAL = 31


def signal_name(number: int) -> str:
    """Name signal `number` as this platform does (SIGHUP is 1)."""
    if number <= LAST_CLASSIC_SIGNAL:
        try:
            return signal.Signals(number).name
        except ValueError:
            pass
    return f"SIG{number}"


def signal_names(mask: int) -> list[str]:
    """Name every signal in `mask`, where bit 0 stands for signal 1."""
    return [signal_name(bit + 1) for bit in set_bits(mask)]
