"""The non-destructive project: untouched sources, one recipe per version, a render cache.

>>> from trackwright.project import Project
>>> project = Project.create("song", "draft.wav", stems="stems/")      # doctest: +SKIP
>>> recipe = project.recipe().with_part("bass", gain_db=-2.0)          # doctest: +SKIP
>>> project.commit(recipe, "bass down 2 dB")                           # doctest: +SKIP
>>> project.render().mix                                               # doctest: +SKIP
PosixPath('song/renders/3f…/mix.wav')
"""

from trackwright.project.diff import describe_diff
from trackwright.project.recipe import FORMAT_VERSION, MasterSettings, PartSettings, Recipe, VersionInfo
from trackwright.project.render import RENDER_ENGINE, RenderResult, cache_key
from trackwright.project.store import Project

__all__ = ["FORMAT_VERSION", "RENDER_ENGINE", "MasterSettings", "PartSettings", "Project", "Recipe", "RenderResult",
           "VersionInfo", "cache_key", "describe_diff"]
