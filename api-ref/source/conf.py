# Sphinx configuration of the Images API v1 reference (tox -e api-ref).

extensions = ['os_api_ref', 'openstackdocstheme']

html_theme = 'openstackdocs'
html_theme_options = {'sidebar_mode': 'toc'}
openstackdocs_repo_name = 'glance_v1'
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False
openstackdocs_bug_project = 'glance_v1'
openstackdocs_bug_tag = 'api-ref'

project = 'Image Service API v1 (glance_v1)'
copyright = 'glance_v1 developers'
source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = []
pygments_style = 'native'
