"""The agency node's pages for case managers (`pprl node serve`)."""

from linkage_node.web.app import create_node_app
from linkage_node.web.node import NodeWebSettings, hash_password

__all__ = ["NodeWebSettings", "create_node_app", "hash_password"]
