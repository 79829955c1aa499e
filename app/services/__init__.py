"""Use cases: each public function is one unit of work that opens, does its job and commits."""
