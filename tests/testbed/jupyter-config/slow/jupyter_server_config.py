# A server extension that takes 20 s to load (as some do while they index or download).
c.ServerApp.jpserver_extensions = {"jltb_slow": True}
