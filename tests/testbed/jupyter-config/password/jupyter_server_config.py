# An image with a login password ("secret"), hashed as `jupyter server password` does.
c.PasswordIdentityProvider.hashed_password = "argon2:$argon2id$v=19$m=10240,t=10,p=8$nGs1O6RVEYvcts/P3ddraA$Gagsh8bff28GXGEQlY+eQnBCciuXQjfZ00b/ur+8Le8"
