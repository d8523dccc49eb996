from geovision.types import Bounds, PixelWindow


def test_bounds_intersection_and_area():
    a = Bounds(0, 0, 10, 10)
    assert a.intersection(Bounds(5, 5, 20, 20)) == Bounds(5, 5, 10, 10)
    assert a.intersection(Bounds(10, 0, 20, 10)) is None  # touching only
    assert a.intersection(Bounds(11, 11, 12, 12)) is None
    assert a.area == 100 and Bounds(0, 0, -1, 1).area == 0


def test_pixel_window_slices():
    window = PixelWindow(col_off=3, row_off=5, width=4, height=2)
    assert window.row_slice == slice(5, 7) and window.col_slice == slice(3, 7)
