"""rubin-env's variants, the names ``lsstinstall --variant`` accepts."""

from __future__ import annotations

#: rubin-env's variants as conda-forge's rubinenv-feedstock builds them: nosysroot is the
#: environment without the sysroot (it replaces rubin-env), the others add to rubin-env
VARIANTS = ("nosysroot", "developer", "rsp", "extras")
