# A password ("secret") and tokens switched off: only the password opens this server.
c.ServerApp.password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$nGs1O6RVEYvcts/P3ddraA$Gagsh8bff28GXGEQlY+eQnBCciuXQjfZ00b/ur+8Le8"
c.ServerApp.token = ""
