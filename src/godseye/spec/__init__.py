"""godseye.spec"""
