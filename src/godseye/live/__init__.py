"""godseye.live"""
