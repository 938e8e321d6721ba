"""The source build of a stack, as lsstsw's rebuild: prepare, plan, schedule, run, report."""
