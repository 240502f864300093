"""godseye.control"""
