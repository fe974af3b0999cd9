"""Progress output: plain lines when stdout is not a terminal, silent when disabled."""

from autowarm.train.progress import Progress


def test_plain_lines_about_every_twentieth_of_the_run(capsys):
    bar = Progress(100, label="run")
    for step in range(3, 101, 3):  # updates reported at log steps that are not multiples of 5
        bar.update(step, loss=2.5, phase="fixed")
    bar.update(100, val_loss=2.25)
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert 18 <= len(lines) <= 22
    assert lines[0].startswith("[run] 6/100  loss 2.5  phase fixed")
    assert lines[-1].startswith("[run] 100/100  val_loss 2.25")


def test_disabled_is_silent(capsys):
    bar = Progress(10, enabled=False)
    bar.update(10, loss=1.0)
    bar.close()
    assert capsys.readouterr().out == ""
