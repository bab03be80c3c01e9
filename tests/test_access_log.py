"""The access log's chunking: whole lines, each write at most PIPE_BUF (atomic in a pipe)."""

from hypothesis import given
from hypothesis import strategies as st

from service.access_log import CUT_MARK, PIPE_BUF, line_aligned_chunks

lines = st.lists(
    st.binary(min_size=0, max_size=3 * PIPE_BUF).map(lambda raw: raw.replace(b"\n", b"") + b"\n")
)


def test_a_full_buffer_goes_out_in_pipe_buf_chunks() -> None:
    written = [b"x" * 999 + b"\n"] * 66
    chunks = line_aligned_chunks(written)
    assert [len(chunk) for chunk in chunks] == [4000] * 16 + [2000]


@given(lines)
def test_chunks_are_whole_lines_no_larger_than_pipe_buf(written: list[bytes]) -> None:
    chunks = line_aligned_chunks(written)
    assert all(0 < len(chunk) <= PIPE_BUF for chunk in chunks)
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    out = [line + b"\n" for line in b"".join(chunks).split(b"\n")[:-1]]
    assert len(out) == len(written)
    for before, after in zip(written, out, strict=True):
        assert after == before if len(before) <= PIPE_BUF else after.endswith(CUT_MARK)
