"""``sync2 simulate``: run simulated hospitals on 127.0.0.1 until Ctrl-C (the lead wires typer)."""

from __future__ import annotations

from time import sleep

from ._generate import generate_hospitals
from ._server import serve_hospitals


def simulate(
    hospitals: int = 3,
    patients: int = 20,
    obs_per_patient: int = 10,
    seed: int = 1,
    base_port: int = 8081,
    live_rate: float = 0.0,
) -> None:
    """Serve ``hospitals`` generated hospitals on ports base_port, base_port+1, ... (0: any).

    Prints each hospital's name, URL and credentials; with ``live_rate`` > 0 adds that many new
    obs per second to each hospital (fractions accumulate). Runs until KeyboardInterrupt.
    """
    built = generate_hospitals(
        n=hospitals, patients=patients, obs_per_patient=obs_per_patient, seed=seed
    )
    ports = [base_port + i if base_port else 0 for i in range(len(built))]
    with serve_hospitals(built, ports=ports) as servers:
        for s in servers:
            print(
                f"{s.hospital.name}: {s.url}  user={s.username} password={s.password}", flush=True
            )
        print("Press Ctrl-C to stop.", flush=True)
        owed = 0.0
        try:
            while True:
                sleep(1.0)
                owed += live_rate
                k = int(owed)
                if k:
                    owed -= k
                    for s in servers:
                        s.hospital.add_random_observations(k)
        except KeyboardInterrupt:
            print("Stopping.", flush=True)
