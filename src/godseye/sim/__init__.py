"""godseye.sim"""
