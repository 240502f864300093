"""godseye.report"""
