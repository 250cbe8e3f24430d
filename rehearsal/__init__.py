"""The rehearsal harness: the whole loop played on one machine, for the demo, the benchmarks and
the tests.

A rehearsal needs a real `voxhub hub` process on a free port (`hub_process`), spoken commands
made at run time (`speech`: the hub's own Kokoro in another voice, or Debian's espeak-ng, so no
audio is committed) and a real satellite listening to them with clocks on every step
(`timed_satellite`). None of it belongs to the product: `hub/` and `satellite/` never import this
package (tests/test_import_rules.py checks it), while it may import anything. It ships in the
distribution only because `voxhub demo` runs it.
"""
