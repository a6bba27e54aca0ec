!> Reference physics of the NEMO-style idealised ocean basin host (module ocean_physics).
!>
!> A closed basin of jpi x jpj water/land columns and jpk levels (k = 1 at the surface, as
!> in NEMO), on a latitude band lat_s..lat_n. Land comes from a 2-D mask (1 = water,
!> 0 = land; flat bottom, so a water column has all jpk levels). Water columns are
!> independent: there are no horizontal processes, so the basin decomposes trivially.
!> 3-D fields are (jpi, jpj, jpk) at T points; vertical mixing coefficients are
!> (jpi, jpj, jpk-1) on the interior W points, index k between T levels k and k+1.
!>
!> Each step (`oc_step`), given avt/avm from the mixing scheme:
!> 1. momentum: Coriolis rotation (exact, by f dt), Rayleigh drag (implicit, time scale
!>    tau_drag, stands for the missing pressure gradients), surface wind stress into the
!>    top layer, implicit vertical viscosity avm (no stress at the bottom);
!> 2. temperature: a surface heat flux Q = lambda (T* - SST) (restoring to a seasonal,
!>    latitude-dependent apparent temperature T*, Haney 1971) into the top layer, implicit
!>    vertical diffusion avt (no flux at the bottom).
!> The vertical mixing scheme (`mixing`) is Pacanowski & Philander (1981) with NEMO's
!> enhanced vertical diffusion for static instability; it is the scheme to emulate.
!> Linear equation of state rho = rho0 (1 - alpha_t (T - T0)) (temperature only).
!>
!> The public routines take explicit-shape real(c_double) and integer(c_int) arguments,
!> for f90wrap and for direct Fortran calls; they do not check their arguments (the Python
!> wrapper climlearn.testbeds.ocean.physics does). Land columns are never read or written.
module ocean_physics
  use, intrinsic :: iso_c_binding, only: c_double, c_int
  implicit none
  private

  public :: oc_grid, oc_basin_mask, oc_coordinates, oc_forcing, oc_initial, mixing, &
            oc_zdf_implicit, oc_step, oc_run, oc_constants
  !> Argument kinds, re-exported for the generated f90wrap wrappers.
  public :: c_double, c_int

  integer, parameter :: dp = c_double
  real(dp), parameter :: pi = 3.14159265358979323846_dp

  !> Physical constants.
  real(dp), parameter :: rho0 = 1026.0_dp      !< reference density, kg m-3
  real(dp), parameter :: rcp = 3991.86795711963_dp  !< heat capacity, J kg-1 K-1 (NEMO)
  real(dp), parameter :: grav = 9.80665_dp     !< gravity, m s-2
  real(dp), parameter :: alpha_t = 2.0e-4_dp   !< thermal expansion, K-1
  real(dp), parameter :: omega = 7.292115e-5_dp  !< Earth rotation rate, s-1
  real(dp), parameter :: year = 360.0_dp * 86400.0_dp  !< model year, s

  !> Pacanowski & Philander (1981) parameters (shared/REFERENCE.md section 3) and NEMO's
  !> enhanced vertical diffusion (ln_zdfevd: avt = avm = rn_evd where N2 <= n2_evd).
  real(dp), parameter :: pp_nu0 = 1.0e-2_dp, pp_alpha = 5.0_dp, pp_nub = 1.0e-4_dp
  real(dp), parameter :: pp_kappab = 1.0e-5_dp, rn_evd = 10.0_dp, n2_evd = -1.0e-12_dp
  integer, parameter :: pp_n = 2
  real(dp), parameter :: s2_min = 1.0e-20_dp   !< floor of the squared shear, s-2

  !> Basin and forcing.
  real(dp), parameter :: lat_s = 10.0_dp, lat_n = 60.0_dp  !< latitude band, degrees N
  real(dp), parameter :: tau0 = 0.1_dp         !< wind stress scale, N m-2
  real(dp), parameter :: lambda = 40.0_dp      !< restoring coefficient, W m-2 K-1
  real(dp), parameter :: tau_drag = 10.0_dp * 86400.0_dp  !< Rayleigh drag time, s
  real(dp), parameter :: t_deep = 4.0_dp, z_thermo = 400.0_dp  !< initial profile, degC, m

contains

  !> The constants, in this order: rho0, rcp, grav, alpha_t, omega, year, pp_nu0, pp_alpha,
  !> pp_n, pp_nub, pp_kappab, rn_evd, n2_evd, s2_min, lat_s, lat_n, tau0, lambda, tau_drag.
  subroutine oc_constants(c)
    real(c_double), intent(out) :: c(19)  !< the constants
    c = [rho0, rcp, grav, alpha_t, omega, year, pp_nu0, pp_alpha, real(pp_n, dp), pp_nub, &
         pp_kappab, rn_evd, n2_evd, s2_min, lat_s, lat_n, tau0, lambda, tau_drag]
  end subroutine oc_constants

  !> Vertical grid: layer thickness growing quadratically from dz_top (surface) to dz_bot
  !> (bottom layer); depths of T points (layer centres) and W points (layer tops; the
  !> bottom at gdepw(jpk+1)); e3w(k) = gdept(k+1) - gdept(k) between T levels k and k+1.
  subroutine oc_grid(jpk, dz_top, dz_bot, e3t, e3w, gdept, gdepw)
    integer(c_int), intent(in) :: jpk               !< number of levels (>= 2)
    real(c_double), intent(in) :: dz_top, dz_bot    !< top and bottom thickness, m
    real(c_double), intent(out) :: e3t(jpk)         !< layer thickness, m
    real(c_double), intent(out) :: e3w(jpk - 1)     !< distance between T levels, m
    real(c_double), intent(out) :: gdept(jpk)       !< depth of T points, m
    real(c_double), intent(out) :: gdepw(jpk + 1)   !< depth of W points, m
    integer :: k
    real(dp) :: s
    gdepw(1) = 0.0_dp
    do k = 1, jpk
      s = real(k - 1, dp) / real(jpk - 1, dp)
      e3t(k) = dz_top + (dz_bot - dz_top) * s * s
      gdepw(k + 1) = gdepw(k) + e3t(k)
      gdept(k) = gdepw(k) + 0.5_dp * e3t(k)
    end do
    do k = 1, jpk - 1
      e3w(k) = gdept(k + 1) - gdept(k)
    end do
  end subroutine oc_grid

  !> Land-sea mask of the idealised basin: land on the four walls, a peninsula from the
  !> western coast (rows from 60 % of the basin's height, reaching 35 % across; when
  !> jpi, jpj >= 6) and a rectangular island around (65 %, 30 %) (when jpi, jpj >= 8).
  subroutine oc_basin_mask(jpi, jpj, mask)
    integer(c_int), intent(in) :: jpi, jpj       !< grid size (>= 3 each)
    integer(c_int), intent(out) :: mask(jpi, jpj)  !< 1 = water, 0 = land
    integer :: jp, ip, i0, i1, j0, j1
    mask = 1
    mask(1, :) = 0
    mask(jpi, :) = 0
    mask(:, 1) = 0
    mask(:, jpj) = 0
    jp = max(2, nint(0.6_dp * jpj))
    ip = max(2, nint(0.35_dp * jpi))
    if (jpi >= 6 .and. jpj >= 6) mask(1:ip, jp:min(jp + max(1, jpj / 16), jpj)) = 0
    i0 = max(2, nint(0.65_dp * jpi) - jpi / 16)
    i1 = min(jpi - 1, nint(0.65_dp * jpi) + jpi / 16)
    j0 = max(2, nint(0.3_dp * jpj) - jpj / 16)
    j1 = min(jpj - 1, nint(0.3_dp * jpj) + jpj / 16)
    if (jpi >= 8 .and. jpj >= 8) mask(i0:i1, j0:j1) = 0
  end subroutine oc_basin_mask

  !> Non-dimensional positions x(i), y(j) in (0, 1) (cell centres) and latitudes.
  subroutine oc_coordinates(jpi, jpj, x, y, lat)
    integer(c_int), intent(in) :: jpi, jpj
    real(c_double), intent(out) :: x(jpi)    !< west (0) to east (1)
    real(c_double), intent(out) :: y(jpj)    !< south (0) to north (1)
    real(c_double), intent(out) :: lat(jpj)  !< latitude, degrees north
    integer :: i, j
    do i = 1, jpi
      x(i) = (real(i, dp) - 0.5_dp) / real(jpi, dp)
    end do
    do j = 1, jpj
      y(j) = (real(j, dp) - 0.5_dp) / real(jpj, dp)
      lat(j) = lat_s + (lat_n - lat_s) * y(j)
    end do
  end subroutine oc_coordinates

  !> Surface forcing at time `time` (s; the year is 360 days, t = 0 is mid-winter):
  !> zonal stress -tau0 (0.7 + 0.6 x) cos(2 pi y) (1 + 0.3 cos(2 pi t / year)) (trade
  !> winds, westerlies, polar easterlies), meridional stress 0.03 sin(2 pi y) sin(2 pi t /
  !> year), and the apparent temperature T* = 27 - 22 y + 1.5 cos(pi x) - (1 + 5 y) cos(2 pi
  !> t / year) (degC) that the heat flux restores the surface to.
  subroutine oc_forcing(jpi, jpj, time, taux, tauy, tstar)
    integer(c_int), intent(in) :: jpi, jpj
    real(c_double), intent(in) :: time             !< model time, s
    real(c_double), intent(out) :: taux(jpi, jpj)  !< zonal wind stress, N m-2
    real(c_double), intent(out) :: tauy(jpi, jpj)  !< meridional wind stress, N m-2
    real(c_double), intent(out) :: tstar(jpi, jpj) !< restoring temperature, degC
    real(dp) :: x(jpi), y(jpj), lat(jpj), ph
    integer :: i, j
    call oc_coordinates(jpi, jpj, x, y, lat)
    ph = 2.0_dp * pi * time / year
    do j = 1, jpj
      do i = 1, jpi
        taux(i, j) = -tau0 * (0.7_dp + 0.6_dp * x(i)) * cos(2.0_dp * pi * y(j)) &
                     * (1.0_dp + 0.3_dp * cos(ph))
        tauy(i, j) = 0.03_dp * sin(2.0_dp * pi * y(j)) * sin(ph)
        tstar(i, j) = 27.0_dp - 22.0_dp * y(j) + 1.5_dp * cos(pi * x(i)) &
                      - (1.0_dp + 5.0_dp * y(j)) * cos(ph)
      end do
    end do
  end subroutine oc_forcing

  !> Initial state at rest: T = t_deep + (T*_annual - t_deep) exp(-z / z_thermo) in water,
  !> zero on land (T, u, v).
  subroutine oc_initial(jpi, jpj, jpk, mask, gdept, t, u, v)
    integer(c_int), intent(in) :: jpi, jpj, jpk
    integer(c_int), intent(in) :: mask(jpi, jpj)   !< 1 = water, 0 = land
    real(c_double), intent(in) :: gdept(jpk)       !< depth of T points, m
    real(c_double), intent(out) :: t(jpi, jpj, jpk)  !< temperature, degC
    real(c_double), intent(out) :: u(jpi, jpj, jpk)  !< zonal velocity, m s-1
    real(c_double), intent(out) :: v(jpi, jpj, jpk)  !< meridional velocity, m s-1
    real(dp) :: x(jpi), y(jpj), lat(jpj), tann
    integer :: i, j, k
    call oc_coordinates(jpi, jpj, x, y, lat)
    t = 0.0_dp
    u = 0.0_dp
    v = 0.0_dp
    do k = 1, jpk
      do j = 1, jpj
        do i = 1, jpi
          if (mask(i, j) /= 1) cycle
          tann = 27.0_dp - 22.0_dp * y(j) + 1.5_dp * cos(pi * x(i))
          t(i, j, k) = t_deep + (tann - t_deep) * exp(-gdept(k) / z_thermo)
        end do
      end do
    end do
  end subroutine oc_initial

  !> THE SCHEME TO EMULATE: Pacanowski & Philander (1981) vertical viscosity avm and
  !> diffusivity avt on the interior W points of the water columns, from T, u, v.
  !> N2 = g alpha_t (T(k) - T(k+1)) / e3w(k), S2 = |u(k) - u(k+1)|^2 / e3w(k)^2,
  !> Ri = N2 / max(S2, s2_min); where N2 <= n2_evd (static instability) avt = avm = rn_evd
  !> (NEMO's enhanced vertical diffusion), otherwise
  !> avm = nu0 / (1 + alpha Ri)^n + nu_b and avt = avm / (1 + alpha Ri) + kappa_b.
  !> Land columns are not touched.
  subroutine mixing(jpi, jpj, jpk, mask, e3w, t, u, v, avt, avm)
    integer(c_int), intent(in) :: jpi, jpj, jpk
    integer(c_int), intent(in) :: mask(jpi, jpj)      !< 1 = water, 0 = land
    real(c_double), intent(in) :: e3w(jpk - 1)        !< distance between T levels, m
    real(c_double), intent(in) :: t(jpi, jpj, jpk)    !< temperature, degC
    real(c_double), intent(in) :: u(jpi, jpj, jpk)    !< zonal velocity, m s-1
    real(c_double), intent(in) :: v(jpi, jpj, jpk)    !< meridional velocity, m s-1
    real(c_double), intent(inout) :: avt(jpi, jpj, jpk - 1)  !< diffusivity, m2 s-1
    real(c_double), intent(inout) :: avm(jpi, jpj, jpk - 1)  !< viscosity, m2 s-1
    real(dp) :: n2, s2, ri, c, nu, du, dv
    integer :: i, j, k
    do k = 1, jpk - 1
      do j = 1, jpj
        do i = 1, jpi
          if (mask(i, j) /= 1) cycle
          n2 = grav * alpha_t * (t(i, j, k) - t(i, j, k + 1)) / e3w(k)
          if (n2 <= n2_evd) then
            avt(i, j, k) = rn_evd
            avm(i, j, k) = rn_evd
          else
            du = u(i, j, k) - u(i, j, k + 1)
            dv = v(i, j, k) - v(i, j, k + 1)
            s2 = (du * du + dv * dv) / (e3w(k) * e3w(k))
            ri = max(n2, 0.0_dp) / max(s2, s2_min)
            c = 1.0_dp / (1.0_dp + pp_alpha * ri)
            nu = pp_nu0 * c**pp_n + pp_nub
            avm(i, j, k) = nu
            avt(i, j, k) = nu * c + pp_kappab
          end if
        end do
      end do
    end do
  end subroutine mixing

  !> Implicit (backward Euler) vertical diffusion of one column in flux form, no flux at
  !> the surface and the bottom: (f_new(k) - f(k)) e3t(k) / dt = kz(k) (f_new(k+1) -
  !> f_new(k)) / e3w(k) - kz(k-1) (f_new(k) - f_new(k-1)) / e3w(k-1). Conserves sum(e3t f).
  pure subroutine oc_zdf_implicit(jpk, dt, e3t, e3w, kz, f)
    integer(c_int), intent(in) :: jpk
    real(c_double), intent(in) :: dt            !< time step, s
    real(c_double), intent(in) :: e3t(jpk)      !< layer thickness, m
    real(c_double), intent(in) :: e3w(jpk - 1)  !< distance between T levels, m
    real(c_double), intent(in) :: kz(jpk - 1)   !< diffusivity, m2 s-1
    real(c_double), intent(inout) :: f(jpk)     !< the field
    real(dp) :: a(jpk), b(jpk), c(jpk), w(jpk - 1), den
    integer :: k
    do k = 1, jpk - 1
      w(k) = dt * kz(k) / e3w(k)
    end do
    a(1) = 0.0_dp
    a(2:jpk) = -w
    c(1:jpk - 1) = -w
    c(jpk) = 0.0_dp
    do k = 1, jpk
      b(k) = e3t(k) - a(k) - c(k)
      f(k) = f(k) * e3t(k)
    end do
    ! Thomas algorithm: forward elimination then back substitution.
    c(1) = c(1) / b(1)
    f(1) = f(1) / b(1)
    do k = 2, jpk
      den = b(k) - a(k) * c(k - 1)
      c(k) = c(k) / den
      f(k) = (f(k) - a(k) * f(k - 1)) / den
    end do
    do k = jpk - 1, 1, -1
      f(k) = f(k) - c(k) * f(k + 1)
    end do
  end subroutine oc_zdf_implicit

  !> One time step from `time` to `time + dt` of the water columns with the given mixing
  !> coefficients (see the module header). qsurf receives the surface heat flux applied,
  !> W m-2 (positive into the ocean; 0 on land). Land columns are not touched.
  subroutine oc_step(jpi, jpj, jpk, mask, e3t, e3w, time, dt, t, u, v, avt, avm, qsurf)
    integer(c_int), intent(in) :: jpi, jpj, jpk
    integer(c_int), intent(in) :: mask(jpi, jpj)      !< 1 = water, 0 = land
    real(c_double), intent(in) :: e3t(jpk)            !< layer thickness, m
    real(c_double), intent(in) :: e3w(jpk - 1)        !< distance between T levels, m
    real(c_double), intent(in) :: time                !< time at the start of the step, s
    real(c_double), intent(in) :: dt                  !< time step, s
    real(c_double), intent(inout) :: t(jpi, jpj, jpk) !< temperature, degC
    real(c_double), intent(inout) :: u(jpi, jpj, jpk) !< zonal velocity, m s-1
    real(c_double), intent(inout) :: v(jpi, jpj, jpk) !< meridional velocity, m s-1
    real(c_double), intent(in) :: avt(jpi, jpj, jpk - 1)  !< diffusivity, m2 s-1
    real(c_double), intent(in) :: avm(jpi, jpj, jpk - 1)  !< viscosity, m2 s-1
    real(c_double), intent(out) :: qsurf(jpi, jpj)    !< surface heat flux, W m-2
    real(dp) :: taux(jpi, jpj), tauy(jpi, jpj), tstar(jpi, jpj)
    real(dp) :: x(jpi), y(jpj), lat(jpj), col(jpk), ucol(jpk), vcol(jpk), kz(jpk - 1)
    real(dp) :: f, cf, sf, rdrag
    integer :: i, j
    call oc_forcing(jpi, jpj, time, taux, tauy, tstar)
    call oc_coordinates(jpi, jpj, x, y, lat)
    rdrag = 1.0_dp / (1.0_dp + dt / tau_drag)
    qsurf = 0.0_dp
    do j = 1, jpj
      f = 2.0_dp * omega * sin(lat(j) * pi / 180.0_dp)
      cf = cos(f * dt)
      sf = sin(f * dt)
      do i = 1, jpi
        if (mask(i, j) /= 1) cycle
        ! momentum: du/dt = f v, dv/dt = -f u (exact rotation), drag, stress, viscosity
        ucol = rdrag * (cf * u(i, j, :) + sf * v(i, j, :))
        vcol = rdrag * (cf * v(i, j, :) - sf * u(i, j, :))
        ucol(1) = ucol(1) + dt * taux(i, j) / (rho0 * e3t(1))
        vcol(1) = vcol(1) + dt * tauy(i, j) / (rho0 * e3t(1))
        kz = avm(i, j, :)
        call oc_zdf_implicit(jpk, dt, e3t, e3w, kz, ucol)
        call oc_zdf_implicit(jpk, dt, e3t, e3w, kz, vcol)
        u(i, j, :) = ucol
        v(i, j, :) = vcol
        ! temperature: restoring heat flux into the top layer, diffusion
        qsurf(i, j) = lambda * (tstar(i, j) - t(i, j, 1))
        col = t(i, j, :)
        col(1) = col(1) + dt * qsurf(i, j) / (rho0 * rcp * e3t(1))
        kz = avt(i, j, :)
        call oc_zdf_implicit(jpk, dt, e3t, e3w, kz, col)
        t(i, j, :) = col
      end do
    end do
  end subroutine oc_step

  !> Integrate nsteps reference steps (mixing then oc_step) from time0, accumulating the
  !> surface heat input qsum += qsurf dt (J m-2). avt/avm hold the last step's mixing.
  subroutine oc_run(jpi, jpj, jpk, mask, e3t, e3w, time0, dt, nsteps, t, u, v, avt, avm, &
                    qsum)
    integer(c_int), intent(in) :: jpi, jpj, jpk, nsteps
    integer(c_int), intent(in) :: mask(jpi, jpj)      !< 1 = water, 0 = land
    real(c_double), intent(in) :: e3t(jpk)            !< layer thickness, m
    real(c_double), intent(in) :: e3w(jpk - 1)        !< distance between T levels, m
    real(c_double), intent(in) :: time0               !< start time, s
    real(c_double), intent(in) :: dt                  !< time step, s
    real(c_double), intent(inout) :: t(jpi, jpj, jpk) !< temperature, degC
    real(c_double), intent(inout) :: u(jpi, jpj, jpk) !< zonal velocity, m s-1
    real(c_double), intent(inout) :: v(jpi, jpj, jpk) !< meridional velocity, m s-1
    real(c_double), intent(inout) :: avt(jpi, jpj, jpk - 1)  !< diffusivity, m2 s-1
    real(c_double), intent(inout) :: avm(jpi, jpj, jpk - 1)  !< viscosity, m2 s-1
    real(c_double), intent(inout) :: qsum(jpi, jpj)   !< accumulated heat input, J m-2
    real(dp) :: qsurf(jpi, jpj)
    integer :: n
    do n = 1, nsteps
      call mixing(jpi, jpj, jpk, mask, e3w, t, u, v, avt, avm)
      call oc_step(jpi, jpj, jpk, mask, e3t, e3w, time0 + real(n - 1, dp) * dt, dt, t, u, &
                   v, avt, avm, qsurf)
      qsum = qsum + dt * qsurf
    end do
  end subroutine oc_run

end module ocean_physics
