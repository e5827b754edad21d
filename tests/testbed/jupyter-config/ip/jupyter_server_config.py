# An image that expects to be run with `docker run -p 9999:9999`: it listens on every
# interface, on a fixed port, and opens a browser. jl's choices must win over all three.
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 9999
c.ServerApp.open_browser = True
