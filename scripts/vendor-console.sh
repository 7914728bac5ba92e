#!/usr/bin/env bash
# Re-fetch the admin console's vendored scripts from the npm registry at the versions pinned in
# sync2/console/static/vendor/vendored.json, check the registry's integrity and each file's
# sha256, and copy them in. To upgrade: change "npm" and "integrity" there, run this with
# --update (it then rewrites the sha256 of each file), and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=sync2/console/static/vendor
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$VENDOR" "$WORK" "${1:-}" <<'PY'
import base64, hashlib, json, pathlib, subprocess, sys, tarfile

vendor, work, mode = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
manifest_path = vendor / "vendored.json"
manifest = json.loads(manifest_path.read_text())
for name, entry in manifest.items():
    out = subprocess.run(["npm", "pack", "--silent", "--pack-destination", str(work), entry["npm"]],
                         check=True, capture_output=True, text=True).stdout.split()[-1]
    tgz = work / out
    algo, _, want = entry["integrity"].partition("-")
    got = base64.b64encode(hashlib.new(algo, tgz.read_bytes()).digest()).decode()
    if got != want:
        sys.exit(f"{entry['npm']}: integrity mismatch (registry gave {algo}-{got})")
    with tarfile.open(tgz) as tar:
        for filename, spec in entry["files"].items():
            data = tar.extractfile(spec["from"]).read()
            digest = hashlib.sha256(data).hexdigest()
            if mode == "--update":
                spec["sha256"] = digest
            elif digest != spec["sha256"]:
                sys.exit(f"{entry['npm']}: {spec['from']} sha256 {digest} != pinned {spec['sha256']}")
            (vendor / name).mkdir(parents=True, exist_ok=True)
            (vendor / name / filename).write_bytes(data)
    print(f"{entry['npm']}: ok")
if mode == "--update":
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
PY
