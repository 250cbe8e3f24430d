"""The satellite pipeline: endpointing, then understanding, then the reply streamed back.

`program.PipelineProgram` is what the hub's endpoint serves; `request` validates what a satellite
asks for; `session` is one satellite run; `endpointing` decides when a command is over; `reply`
streams the spoken answer. Playing recorded commands to a real hub and satellite (the demo, the
benchmarks, the end-to-end tests) is not the product's: see the top-level `rehearsal` package.
"""
