"""An OpenMRS 2.x hospital (atomfeed + fhir2 modules) simulated over real HTTP, for tests.

    from sync2.simulator import generate_hospitals, serve_hospitals

    hospitals = generate_hospitals(n=3, patients=20, obs_per_patient=10, seed=1)
    with serve_hospitals(hospitals) as servers:
        servers[0].url   # http://127.0.0.1:<port>/openmrs

Faithful to research/sync2-atomfeed.md §1 and research/openmrs-fhir2-and-schema.md part A.
"""

from __future__ import annotations

from ._faults import FaultConfig
from ._generate import generate_hospitals
from ._hospital import Hospital
from ._server import HospitalServer, serve_hospitals

__all__ = ["FaultConfig", "Hospital", "HospitalServer", "generate_hospitals", "serve_hospitals"]
