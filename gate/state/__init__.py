"""Facts at the bottom of the decision path: where the gate's state lives and which faults hold.

- `paths`: the state files beside the record store (the trust cache, the time floor);
- `syncmeta`: what sync keeps in the record store's meta table, and what the doctor reads of it;
- `faults_now`: which faults hold now, worked out once (`list_faults` for the lists and the clock;
  `GateFaults` for the whole gate, asked of the running kiosk or worked out as it would), read by
  the screen (through the pipeline), the doctor, the heartbeat and sync alike.

Nothing here imports health, the pipeline, the kiosk or sync: they read these facts.
"""
