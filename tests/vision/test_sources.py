"""Frame sources: footage on its own timeline, cameras that are lost and come back, reported."""

import cv2
import numpy as np
import pytest

from gate.config import CameraConfig
from gate.vision.sources import (
    Frame, ImageFolderSource, SourceError, SourceState, V4L2Source, VideoFileSource, open_source,
)


def _solid(i: int) -> np.ndarray:
    return np.full((48, 64, 3), 20 * i, np.uint8)


def _write_video(path, n=12, fps=10.0, fourcc="MJPG"):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (64, 48))
    assert writer.isOpened()
    for i in range(n):
        writer.write(_solid(i))
    writer.release()
    return path


@pytest.mark.parametrize("name, fourcc", [("clip.avi", "MJPG"), ("clip.mp4", "mp4v")])
def test_video_file_gives_every_frame_with_the_footage_timestamps(tmp_path, name, fourcc):
    path = _write_video(tmp_path / name, fourcc=fourcc)
    states = []
    source = VideoFileSource(path, on_state=lambda s, detail: states.append(s))
    got = list(source)
    assert [f.index for f in got] == list(range(12))
    assert [round(f.t, 3) for f in got] == [round(i * 0.1, 3) for i in range(12)]
    assert got[0].image.shape == (48, 64, 3)
    assert abs(float(got[5].image.mean()) - 100) < 8  # frame 5 is frame 5, not another
    assert source.state is SourceState.ENDED and states == [SourceState.ENDED]
    assert source.read() is None


def test_image_folder_in_name_order_with_unreadable_images_logged_and_their_slot_kept(tmp_path, caplog):
    for i, name in enumerate(["b.png", "a.png", "d.jpg"]):
        cv2.imwrite(str(tmp_path / name), _solid(i + 1))
    (tmp_path / "c.png").write_bytes(b"not a png")
    (tmp_path / "notes.txt").write_text("ignored")
    source = ImageFolderSource(tmp_path, frame_interval_s=0.5)
    got = list(source)
    assert [(f.index, f.t) for f in got] == [(0, 0.0), (1, 0.5), (3, 1.5)]
    assert [int(f.image.mean()) for f in got[:2]] == [40, 20]  # a.png then b.png
    assert source.unreadable == 1 and "c.png" in caplog.text
    assert source.state is SourceState.ENDED


def test_missing_or_unusable_footage_is_a_configuration_error(tmp_path):
    with pytest.raises(SourceError, match="no video file"):
        VideoFileSource(tmp_path / "none.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="not a video"):
        VideoFileSource(tmp_path / "junk.mp4")
    with pytest.raises(SourceError, match="no images"):
        ImageFolderSource(tmp_path)
    with pytest.raises(SourceError, match="not a camera index"):
        open_source(CameraConfig(source=str(tmp_path / "nowhere")))


def test_open_source_chooses_the_backend_from_camera_source(tmp_path):
    _write_video(tmp_path / "clip.avi")
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "1.png"), _solid(1))
    assert isinstance(open_source(CameraConfig(source=str(tmp_path / "clip.avi"))), VideoFileSource)
    assert isinstance(open_source(CameraConfig(source=str(folder))), ImageFolderSource)
    made = []
    cam = open_source(CameraConfig(source="2", width=320, height=240, exposure=80),
                      capture_factory=lambda dev: made.append(dev) or FakeCapture([]))
    assert isinstance(cam, V4L2Source) and made == [2]
    cam = open_source(CameraConfig(source="/dev/video9"), capture_factory=lambda dev: made.append(dev) or FakeCapture([]))
    assert made[-1] == "/dev/video9"


def test_picamera2_without_the_library_is_a_clear_error():
    pytest.importorskip("cv2")
    try:
        import picamera2  # noqa: F401
    except ImportError:
        with pytest.raises(SourceError, match="python3-picamera2"):
            open_source(CameraConfig(source="picamera2"))
    else:
        pytest.skip("picamera2 is installed here")


# --- a camera that fails and recovers -------------------------------------------------------------


class FakeClock:
    """Monotonic time that only moves when the source sleeps."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.slept.append(s)
        self.now += s


class FakeCapture:
    """A capture that delivers the given frames (None = a failed read), then fails."""

    def __init__(self, frames, opened=True):
        self.frames = list(frames)
        self.opened = opened
        self.props = {}
        self.released = False

    def isOpened(self):
        return self.opened

    def read(self):
        if not self.frames:
            return False, None
        image = self.frames.pop(0)
        if isinstance(image, Exception):
            raise image
        return (image is not None), image

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def release(self):
        self.released = True


def test_camera_lost_is_reported_and_reopened_with_backoff():
    clock = FakeClock()
    # opening attempts in order: works (2 frames then unplugged), fails, fails, works again
    captures = [FakeCapture([_solid(1), _solid(2), None]), FakeCapture([], opened=False),
                FakeCapture([], opened=False), FakeCapture([_solid(3), _solid(4)])]
    opened_at = []

    def factory(dev):
        opened_at.append(clock())
        return captures.pop(0)

    states = []
    cam = V4L2Source(0, capture_factory=factory, clock=clock, sleep=clock.sleep,
                     on_state=lambda s, detail: states.append(s))
    assert cam.state is SourceState.OPEN and cam.live

    frames = [cam.read(), cam.read()]
    assert [f.index for f in frames] == [0, 1] and frames[0].t == 100.0
    assert cam.read() is None and cam.state is SourceState.LOST  # unplugged: reported, not skipped

    while cam.state is not SourceState.OPEN:
        assert cam.read() is None
        assert clock.slept[-1] <= cam.poll_s + 1e-9  # read() never blocks the kiosk for long
    assert [round(t - opened_at[1], 2) for t in opened_at[1:]] == [0.0, 0.5, 1.5]  # 0.5 s, then 1 s
    assert opened_at[1] - 100.0 == pytest.approx(0.5)
    assert cam.reconnects == 1

    nxt = cam.read()
    assert isinstance(nxt, Frame) and nxt.index == 2 and int(nxt.image.mean()) == 60
    assert states == [SourceState.OPEN, SourceState.LOST, SourceState.RECONNECTING, SourceState.LOST,
                      SourceState.RECONNECTING, SourceState.LOST, SourceState.RECONNECTING, SourceState.OPEN]


def test_camera_absent_at_start_is_lost_not_a_crash():
    clock = FakeClock()
    cam = V4L2Source("/dev/video7", capture_factory=lambda dev: FakeCapture([], opened=False),
                     clock=clock, sleep=clock.sleep)
    assert cam.state is SourceState.LOST
    assert "did not open" in cam.last_error
    assert cam.read() is None


def test_driver_error_while_reading_means_lost():
    clock = FakeClock()
    cam = V4L2Source(0, capture_factory=lambda dev: FakeCapture([OSError("USB gone")]), clock=clock, sleep=clock.sleep)
    assert cam.read() is None
    assert cam.state is SourceState.LOST and "USB gone" in cam.last_error


def test_camera_is_asked_for_mjpg_at_the_configured_size_and_exposure():
    cap = FakeCapture([])
    V4L2Source(0, 320, 240, exposure=80, capture_factory=lambda dev: cap)
    assert cap.props[cv2.CAP_PROP_FOURCC] == cv2.VideoWriter_fourcc(*"MJPG")
    assert (cap.props[cv2.CAP_PROP_FRAME_WIDTH], cap.props[cv2.CAP_PROP_FRAME_HEIGHT]) == (320, 240)
    assert cap.props[cv2.CAP_PROP_AUTO_EXPOSURE] == 1 and cap.props[cv2.CAP_PROP_EXPOSURE] == 80
    auto = FakeCapture([])
    V4L2Source(0, capture_factory=lambda dev: auto)
    assert auto.props[cv2.CAP_PROP_AUTO_EXPOSURE] == 3 and cv2.CAP_PROP_EXPOSURE not in auto.props


def test_close_is_safe_twice_and_stops_reading():
    cap = FakeCapture([_solid(1)])
    cam = V4L2Source(0, capture_factory=lambda dev: cap)
    cam.close()
    cam.close()
    assert cam.state is SourceState.CLOSED and cap.released
    assert cam.read() is None
