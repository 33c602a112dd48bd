"""The gate's screen: a local page (big colour panel, the decision in Chinese and English, the
temperature, the masked name, the camera's live view while idle, a fault banner) that Chromium
shows full-screen, updated by server-sent events.

    screen = DisplayServer(port=8080).start()
    screen.publish({"kind": "decision", "decision": "allow", "message_zh": "请通行", ...})
    screen.publish_frame(jpeg_bytes)
    screen.stop()
"""

from gate.display.app import DisplayApp
from gate.display.server import DisplayServer

__all__ = ["DisplayApp", "DisplayServer"]
