# An image made for a JupyterHub-style proxy: everything lives under /user/alice/.
c.ServerApp.base_url = "/user/alice/"
