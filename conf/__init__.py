"""mmfusion's Hydra configs (shipped as `mmfusion.conf`). Importing this package, as Hydra does before it
reads the files, registers the typed schemas that each YAML file names in its defaults list."""

from mmfusion.schemas import register

register()
