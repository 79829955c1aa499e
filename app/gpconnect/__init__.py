"""GP Connect Appointment Management (1.2.x, FHIR STU3): the practice's own appointment book.

`client` speaks to a provider through the Spine secure proxy (headers, the unsigned
audit JWT, mutual TLS); `resources` turns the specification's resources into plain
values and back with `fhir.resources` STU3 models; `token` builds the JWT. Nothing here
knows about Nudge's database.
"""
