import pytest

from geovision import errors


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (errors.MissingFileError, FileNotFoundError),
        (errors.CorruptFileError, OSError),
        (errors.GeoreferenceError, ValueError),
        (errors.NoOverlapError, ValueError),
        (errors.BandCountError, ValueError),
        (errors.NodataError, ValueError),
        (errors.OutputExistsError, FileExistsError),
        (errors.ConfigError, ValueError),
        (errors.ModelBundleError, ValueError),
        (errors.StackError, RuntimeError),
    ],
)
def test_every_error_is_also_a_builtin(cls, builtin):
    error = cls("broken", path="a.tif", fix="do this")
    assert isinstance(error, errors.GeovisionError)
    assert isinstance(error, builtin)
    assert error.exit_code == 2


def test_message_names_file_and_fix():
    error = errors.NoOverlapError("pre and post do not overlap", path="/x/post.tif", fix="check the AOI")
    assert str(error) == "/x/post.tif: pre and post do not overlap. Fix: check the AOI"
    assert str(errors.ConfigError("bad")) == "bad"
