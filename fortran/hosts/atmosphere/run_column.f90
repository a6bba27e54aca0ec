!> Standalone driver of the LMDZ-style column host with its reference physics.
!>
!> Reads the namelist &column_host from the file named on the command line (default
!> column_host.nml), integrates nsteps physics steps on klon columns spanning lat_min..
!> lat_max and klev sigma levels, and writes every `every` steps one text line per column:
!>   step lat T(1:klev) q(1:klev) precip
!> to out_file (level 1 is the lowest layer). Only scheme = 'reference' exists for now.
program run_column
  use, intrinsic :: iso_c_binding, only: c_double, c_int
  use, intrinsic :: iso_fortran_env, only: error_unit
  use column_physics, only: physics, cp_sigma_levels, cp_teq, cp_qsat
  implicit none

  integer :: klon = 16, klev = 20, nsteps = 480, every = 48
  real(c_double) :: dtime = 1800.0_c_double, tau_evap = 86400.0_c_double
  real(c_double) :: lat_min = 0.0_c_double, lat_max = 60.0_c_double, ps = 1.0e5_c_double
  character(len=512) :: out_file = 'column_host.txt', nml_file
  character(len=32) :: scheme = 'reference'
  namelist /column_host/ klon, klev, dtime, nsteps, every, out_file, scheme, tau_evap, &
                         lat_min, lat_max, ps

  real(c_double), allocatable :: lat(:), sigh(:), sig(:), paprs(:, :), pplay(:, :)
  real(c_double), allocatable :: t(:, :), q(:, :), dtc(:, :), dqc(:, :), pr(:), krate(:, :)
  integer :: u, ios, i, k, n
  character(len=256) :: msg

  nml_file = 'column_host.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, nml_file)
  open (newunit=u, file=trim(nml_file), status='old', action='read', iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot open namelist file '//trim(nml_file)//': '//trim(msg))
  read (u, nml=column_host, iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot read &column_host from '//trim(nml_file)//': '//trim(msg))
  close (u)
  if (trim(scheme) /= 'reference') &
    call fail("unknown scheme '"//trim(scheme)//"' (valid: 'reference')")
  if (klon < 1 .or. klev < 2 .or. every < 1 .or. nsteps < 0 .or. dtime <= 0) &
    call fail('need klon >= 1, klev >= 2, every >= 1, nsteps >= 0, dtime > 0')

  allocate (lat(klon), sigh(klev + 1), sig(klev), paprs(klon, klev + 1), pplay(klon, klev), &
            t(klon, klev), q(klon, klev), dtc(klon, klev), dqc(klon, klev), pr(klon), &
            krate(klon, klev))
  do i = 1, klon
    lat(i) = lat_min + (lat_max - lat_min) * (real(i, c_double) - 0.5_c_double) / klon
  end do
  call cp_sigma_levels(int(klev, c_int), sigh, sig)
  do k = 1, klev + 1
    paprs(:, k) = ps * sigh(k)
  end do
  do k = 1, klev
    pplay(:, k) = ps * sig(k)
  end do
  call cp_teq(int(klon, c_int), int(klev, c_int), lat, paprs, pplay, t, krate)
  q = 0.5_c_double * cp_qsat(t, pplay)

  open (newunit=u, file=trim(out_file), status='replace', action='write', iostat=ios, &
        iomsg=msg)
  if (ios /= 0) call fail('cannot open '//trim(out_file)//': '//trim(msg))
  do n = 1, nsteps
    call physics(int(klon, c_int), int(klev, c_int), dtime, lat, paprs, pplay, t, q, dtc, &
                 dqc, pr, 1_c_int, 1_c_int, 1_c_int, 1_c_int, 1_c_int, tau_evap)
    if (mod(n, every) == 0) then
      do i = 1, klon
        write (u, '(i0, *(1x, es23.15e3))') n, lat(i), t(i, :), q(i, :), pr(i)
      end do
    end if
  end do
  close (u)

contains

  !> Print msg on stderr and stop with status 1.
  subroutine fail(msg)
    character(len=*), intent(in) :: msg
    write (error_unit, '(a)') 'run_column: '//msg
    stop 1
  end subroutine fail

end program run_column
