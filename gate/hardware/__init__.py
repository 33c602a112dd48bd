"""The gate's body: thermometer (MLX90614 over smbus2), relay, lights, buzzer and inputs
(gpiozero), each behind a seam (`bus=`, `pin_factory=`, `clock=`) with a simulated twin.

Import the parts from their modules: `gate.hardware.thermometer`, `gate.hardware.body`.
"""
