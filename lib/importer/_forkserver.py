"""Imported first by the parsing worker's forkserver, and only there (lib.importer.worker.PRELOAD).

A `forkserver` child normally re-runs the parent's main module (as `__mp_main__`) before the target
function: under `streamlit run` that "main module" is whatever page script Streamlit is running at
the moment, which must never run in a parsing worker. The worker's target is always a module-level
function of lib/, importable by name, so the children of this forkserver skip that step.
"""
from multiprocessing import spawn

spawn._fixup_main_from_path = lambda main_path: None
spawn._fixup_main_from_name = lambda mod_name: None
