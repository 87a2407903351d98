"""The benchmarks, run as scripts, and the course's reference pipeline (bench.course_pipeline)
that they and the tests share: a package so that both import that one copy by its name."""
